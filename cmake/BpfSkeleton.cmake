# add_bpf_skeleton(<target> SOURCE <file.bpf.c> SKELETON <name> [DEPENDS <files>...])
# Compiles one BPF program with clang against vmlinux/vmlinux.h and generates <name>.skel.h with
# bpftool. <target> is an INTERFACE library whose include directory holds the skeleton. The headers
# the program includes are found by clang (a depfile), so none needs listing.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

function(add_bpf_skeleton target)
  cmake_parse_arguments(ARG "" "SOURCE;SKELETON" "DEPENDS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf)
  set(object ${out_dir}/${ARG_SKELETON}.bpf.o)
  set(skeleton ${out_dir}/${ARG_SKELETON}.skel.h)
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    # -idirafter: Debian keeps asm/ under the multiarch include dir, which -target bpf does not search.
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror
            -I${PROJECT_SOURCE_DIR}/vmlinux -I${PROJECT_SOURCE_DIR}/bpf
            -idirafter /usr/include/x86_64-linux-gnu
            -MD -MF ${object}.d
            -c ${ARG_SOURCE} -o ${object}
    DEPENDS ${ARG_SOURCE} ${ARG_DEPENDS} ${PROJECT_SOURCE_DIR}/vmlinux/vmlinux.h
    DEPFILE ${object}.d
    COMMENT "BPF ${ARG_SKELETON}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND ${BPFTOOL} gen skeleton ${object} name ${ARG_SKELETON} > ${skeleton}
    DEPENDS ${object}
    COMMENT "skeleton ${ARG_SKELETON}.skel.h"
    VERBATIM)
  add_custom_target(${target}_gen DEPENDS ${skeleton})
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} SYSTEM INTERFACE ${out_dir} ${PROJECT_SOURCE_DIR}/bpf)
endfunction()
