# profilis_folder_library(NAME SOURCES file... USES target...): the one library of a source folder,
# held to our warnings. USES lists the folders and packages it may include from; they are linked
# PUBLIC, so the linker enforces the one-way dependencies of docs/design.md §2.
function(profilis_folder_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;USES")
  add_library(${name} STATIC ${arg_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${PROFILIS_WARNINGS})
  target_link_libraries(${name} PUBLIC ${arg_USES})
endfunction()
