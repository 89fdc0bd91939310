// Exports the notepad engine. Everything else is in portico_notepad_core.
#include "notepad_engine.hpp"

#include <portico/plugin.hpp>

PORTICO_PLUGIN(notepad::NotepadEngine, "notepad", "1.0.0",
               "A notepad per WebSocket connection: add, list, count and clear notes",
               "notepad add TEXT | list | count | clear | stats")
