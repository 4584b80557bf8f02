# SPDX-License-Identifier: MIT
# Toolchain for the static x86-64 Linux hmq (scripts/static): Debian's
# musl-gcc wrapper (musl-tools), everything linked statically, unused
# sections dropped, and no build paths in the output.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER musl-gcc)
get_filename_component(_hmq_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(CMAKE_C_FLAGS_INIT "-ffunction-sections -fdata-sections -ffile-prefix-map=${_hmq_root}=.")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -Wl,--gc-sections -Wl,--build-id=none")
# scripts/static: the linker map, for bench/tls.sh's size by origin
if(HMQ_LINK_MAP)
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-Map=${HMQ_LINK_MAP}")
endif()
# Never pick up glibc-side libraries or headers from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
