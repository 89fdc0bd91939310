# portico_add_plugin(<name> SOURCES <src>...
#                    [OUTPUT_DIRECTORY <dir>]
#                    [INSTALL] [INSTALL_DESTINATION <dir>])
#
# Builds <name>.so as a loadable module against the Portico plugin API: hidden
# visibility (only the PORTICO_PLUGIN symbols are exported), position
# independent, no "lib" prefix, so the host finds it as <plugin_dir>/<name>.so.
#
# The same file serves the portico source tree and installed SDKs (it is
# included by portico-config.cmake); either way it needs the target
# portico::plugin_api to exist when it is called.
#
#   OUTPUT_DIRECTORY     where the built .so goes; otherwise
#                        ${PORTICO_PLUGIN_OUTPUT_DIRECTORY} if set, otherwise
#                        CMake's default for the directory.
#   INSTALL              add an install rule putting the .so in
#                        INSTALL_DESTINATION (default lib/portico/plugins,
#                        relative to the install prefix: where an installed
#                        portico, <prefix>/bin/portico, looks by default).
#                        Inside the portico project, plugins under plugins/
#                        are installed without asking (PORTICO_INSTALL_PLUGINS).
#
# Undefined symbols fail the link (-Wl,--no-undefined), unless
# PORTICO_PLUGIN_ALLOW_UNDEFINED is ON; it defaults to ON for clang with
# -fsanitize= in CMAKE_CXX_FLAGS, whose runtime only the host carries.
include_guard(GLOBAL)

function(portico_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "INSTALL" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "portico_add_plugin(${name}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "portico_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT TARGET portico::plugin_api)
    message(FATAL_ERROR "portico_add_plugin(${name}): the target portico::plugin_api does not exist; "
                        "call find_package(portico CONFIG REQUIRED) first")
  endif()

  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE portico::plugin_api)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  # Refuse undefined symbols at link time rather than at dlopen time; except
  # under clang's sanitizers, whose runtime lives in the host executable and
  # reaches a plugin only when it is loaded.
  set(allow_undefined ${PORTICO_PLUGIN_ALLOW_UNDEFINED})
  if(NOT DEFINED PORTICO_PLUGIN_ALLOW_UNDEFINED AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang"
     AND CMAKE_CXX_FLAGS MATCHES "-fsanitize=")
    set(allow_undefined ON)
  endif()
  if(NOT allow_undefined)
    target_link_options(${name} PRIVATE -Wl,--no-undefined)
  endif()
  # Without this, g++ marks inline statics (inside std::to_string, say) as
  # STB_GNU_UNIQUE, and glibc then never unloads the library: a reloaded
  # plugin would keep every old copy mapped.
  target_compile_options(${name} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)

  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  elseif(DEFINED PORTICO_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PORTICO_PLUGIN_OUTPUT_DIRECTORY})
  endif()

  if(ARG_INSTALL OR PORTICO_INSTALL_PLUGINS)
    if(NOT ARG_INSTALL_DESTINATION)
      set(ARG_INSTALL_DESTINATION lib/portico/plugins)
    endif()
    # Remove the installed file first, so that the new one is a new file: a
    # running portico may have the old one mapped, and writing into it (what
    # a plain install does) would crash the host. The old mapping lives on.
    if(IS_ABSOLUTE "${ARG_INSTALL_DESTINATION}")
      set(installed "${ARG_INSTALL_DESTINATION}")
    else()
      set(installed "\${CMAKE_INSTALL_PREFIX}/${ARG_INSTALL_DESTINATION}")
    endif()
    install(CODE "file(REMOVE \"\$ENV{DESTDIR}${installed}/$<TARGET_FILE_NAME:${name}>\")")
    install(TARGETS ${name} LIBRARY DESTINATION ${ARG_INSTALL_DESTINATION})
  elseif(ARG_INSTALL_DESTINATION)
    message(FATAL_ERROR "portico_add_plugin(${name}): INSTALL_DESTINATION needs INSTALL")
  endif()
endfunction()
