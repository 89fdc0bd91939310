// The table plugin's export: everything else is in portico_table_core.
#include "table_engine.hpp"

PORTICO_PLUGIN(table::TableEngine, "table", "1.0.0",
               "A shared dice table: everyone at a room sees every roll, pushed as it happens",
               "table join ROOM NAME [LAST_OFFSET] | watch ROOM [LAST_OFFSET] | roll ROOM EXPR | leave ROOM | who ROOM  e.g. table join room1 ann")
