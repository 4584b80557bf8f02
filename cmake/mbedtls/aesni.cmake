# SPDX-License-Identifier: MIT
# AES-NI code of mbedTLS 3.6 from intrinsics, on x86-64 with GCC or Clang.
#
# library/aesni.h uses its intrinsics implementation only when the compiler
# targets AES and PCLMUL (__AES__, __PCLMUL__), and falls back to inline
# assembly otherwise; the GCM multiply of the intrinsics version byte-swaps
# its operands in loops that become one shuffle each with SSSE3. Measured
# with bench/bench_cipher (BENCHMARKS.md "Static binary"): AES-128-GCM per
# 1.4 KB record about 4.3 us with the assembly, 3.3 us from intrinsics with
# SSSE3, 4.1 us from intrinsics without it.
#
# Every file that includes aesni.h must see the same choice: aes.c aligns
# its round keys to 16 bytes only when aesni.h says "intrinsics", and the
# intrinsics code stores to them aligned (dcdafcd gave the flags to aesni.c
# alone: the static hmq crashed in mbedtls_aesni_setkey_enc on a context
# that was not 16-byte aligned). So aes.c, gcm.c and aesni.c get -maes
# -mpclmul (the compiler emits AES/PCLMUL instructions only for the
# intrinsics, which run after mbedTLS found AES-NI and PCLMUL with CPUID),
# and aesni.c alone also -mssse3 (every CPU with AES-NI has SSSE3). The rest
# of mbedTLS stays plain x86-64, so the binary still runs (with
# ChaCha20-Poly1305 first) on a CPU without them.
#
# Two ways in: scripts/static passes this file as CMAKE_PROJECT_INCLUDE to
# mbedTLS's own build (the call is deferred to the end of its top directory,
# when the mbedcrypto target exists); cmake/HmqMbedtls.cmake includes it and
# calls hmq_mbedtls_aesni(<source dir>) after add_subdirectory.
function(hmq_mbedtls_aesni src)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$"
     AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang" AND TARGET mbedcrypto)
    set_source_files_properties("${src}/library/aes.c" "${src}/library/gcm.c"
      TARGET_DIRECTORY mbedcrypto PROPERTIES COMPILE_OPTIONS "-maes;-mpclmul")
    set_source_files_properties("${src}/library/aesni.c" TARGET_DIRECTORY mbedcrypto
      PROPERTIES COMPILE_OPTIONS "-maes;-mpclmul;-mssse3")
  endif()
endfunction()

if(PROJECT_NAME STREQUAL "Mbed TLS" AND NOT HMQ_MBEDTLS_AESNI_DEFERRED)
  set(HMQ_MBEDTLS_AESNI_DEFERRED ON)
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL hmq_mbedtls_aesni "${CMAKE_SOURCE_DIR}")
endif()
