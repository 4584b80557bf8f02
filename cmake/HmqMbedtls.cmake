# SPDX-License-Identifier: MIT
# Where hmq's mbedTLS comes from (included before the find_* calls in
# CMakeLists.txt). Default: the system's (Debian 12: 2.28). Otherwise:
#
#   -DHMQ_MBEDTLS_ROOT=<prefix>     an installed mbedTLS (2.28 or 3.6), e.g.
#                                   the prefix `scripts/static --gnu` prints
#                                   (3.6 built with hmq's configuration);
#                                   searched before anything else.
#   -DHMQ_MBEDTLS_SOURCE=<dir>      an mbedTLS 3.6 source tree you have:
#                                   built here, statically, with hmq's own
#                                   cmake/mbedtls/mbedtls_config.h.
#
# Either way MBEDTLS_INCLUDE_DIR / MBEDTLS_LIB / MBEDX509_LIB /
# MBEDCRYPTO_LIB end up set, and CMakeLists.txt uses them as before.
set(HMQ_MBEDTLS_ROOT "" CACHE PATH "mbedTLS install prefix to use instead of the system's")
set(HMQ_MBEDTLS_SOURCE "" CACHE PATH "mbedTLS 3.6 source tree to build with hmq's configuration")

if(HMQ_MBEDTLS_SOURCE)
  if(NOT EXISTS "${HMQ_MBEDTLS_SOURCE}/include/mbedtls/build_info.h")
    message(FATAL_ERROR "hmq: HMQ_MBEDTLS_SOURCE=${HMQ_MBEDTLS_SOURCE} is not an mbedTLS 3.x tree")
  endif()
  file(STRINGS "${HMQ_MBEDTLS_SOURCE}/include/mbedtls/build_info.h" _hmq_mbed_ver
    REGEX "^#define MBEDTLS_VERSION_STRING +\"3\\.6\\.")
  if(NOT _hmq_mbed_ver)
    message(FATAL_ERROR "hmq: HMQ_MBEDTLS_SOURCE=${HMQ_MBEDTLS_SOURCE} is not mbedTLS 3.6")
  endif()
  set(_hmq_mbed_config "${PROJECT_SOURCE_DIR}/cmake/mbedtls/mbedtls_config.h")
  # every target (mbedTLS's own and every user of include/hmq/tls.h) must
  # see the same configuration, or the structs differ
  add_compile_definitions(MBEDTLS_CONFIG_FILE="${_hmq_mbed_config}")
  set(MBEDTLS_CONFIG_FILE "${_hmq_mbed_config}" CACHE FILEPATH "" FORCE)
  set(ENABLE_PROGRAMS OFF CACHE BOOL "" FORCE)
  set(ENABLE_TESTING OFF CACHE BOOL "" FORCE)
  set(MBEDTLS_FATAL_WARNINGS OFF CACHE BOOL "" FORCE)
  set(USE_SHARED_MBEDTLS_LIBRARY OFF CACHE BOOL "" FORCE)
  set(USE_STATIC_MBEDTLS_LIBRARY ON CACHE BOOL "" FORCE)
  set(GEN_FILES OFF CACHE BOOL "" FORCE)
  set(DISABLE_PACKAGE_CONFIG_AND_INSTALL ON CACHE BOOL "" FORCE)
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  add_subdirectory("${HMQ_MBEDTLS_SOURCE}" "${CMAKE_BINARY_DIR}/mbedtls" EXCLUDE_FROM_ALL)
  # as scripts/static: AES-NI from intrinsics (CPUID still checked at run time)
  include("${PROJECT_SOURCE_DIR}/cmake/mbedtls/aesni.cmake")
  hmq_mbedtls_aesni("${HMQ_MBEDTLS_SOURCE}")
  set(MBEDTLS_INCLUDE_DIR "${HMQ_MBEDTLS_SOURCE}/include" CACHE PATH "" FORCE)
  set(MBEDTLS_LIB mbedtls CACHE STRING "" FORCE)
  set(MBEDX509_LIB mbedx509 CACHE STRING "" FORCE)
  set(MBEDCRYPTO_LIB mbedcrypto CACHE STRING "" FORCE)
elseif(HMQ_MBEDTLS_ROOT)
  find_path(MBEDTLS_INCLUDE_DIR mbedtls/ssl.h PATHS "${HMQ_MBEDTLS_ROOT}/include" NO_DEFAULT_PATH)
  foreach(_l mbedtls mbedx509 mbedcrypto)
    string(TOUPPER ${_l} _v)
    if(_v STREQUAL "MBEDTLS")
      set(_v MBEDTLS_LIB)
    else()
      set(_v ${_v}_LIB)
    endif()
    find_library(${_v} ${_l} PATHS "${HMQ_MBEDTLS_ROOT}/lib" "${HMQ_MBEDTLS_ROOT}/lib64"
      NO_DEFAULT_PATH)
  endforeach()
endif()
