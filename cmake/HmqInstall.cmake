# SPDX-License-Identifier: MIT
# Install rules: the layer libraries, public headers, programs, man page,
# exported targets hmq::mqtt, hmq::envelope, hmq::tls, hmq::link and the
# umbrella hmq::hmq, a CMake package config and hmq.pc.
#
# mbedTLS is a PRIVATE dependency: nothing of it appears in hmq's public
# headers, so a consumer of a shared libhmq needs nothing else. A static
# libhmq.a still needs the mbedTLS libraries at link time; hmqConfig.cmake
# finds and adds them (HMQ_STATIC below), and hmq.pc lists them as
# Requires.private (mbedTLS >= 3 ships .pc files) or Libs.private (2.28 does
# not).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HMQ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hmq)
get_target_property(HMQ_LIB_TYPE hmq_mqtt TYPE)
if(HMQ_LIB_TYPE STREQUAL "STATIC_LIBRARY")
  set(HMQ_STATIC ON)
else()
  set(HMQ_STATIC OFF)
endif()

install(TARGETS ${HMQ_LAYERS} hmq EXPORT hmqTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/hmq DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

foreach(prog hmq_cli hmq_sim)
  if(TARGET ${prog})
    install(TARGETS ${prog} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/hmq.1)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/hmq.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

install(EXPORT hmqTargets NAMESPACE hmq:: FILE hmqTargets.cmake DESTINATION ${HMQ_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/hmqConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hmqConfig.cmake INSTALL_DESTINATION ${HMQ_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hmqConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hmqConfig.cmake ${PROJECT_BINARY_DIR}/hmqConfigVersion.cmake
  DESTINATION ${HMQ_CMAKE_DIR})

# hmq.pc, relocatable: prefix is found from the .pc file's own place, so
# `cmake --install --prefix <dir>` needs no reconfigure.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(HMQ_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(HMQ_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH HMQ_PC_UP "/hmq/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/hmq")
  string(REGEX REPLACE "/$" "" HMQ_PC_UP "${HMQ_PC_UP}")
  set(HMQ_PC_PREFIX "\${pcfiledir}/${HMQ_PC_UP}")
  set(HMQ_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(HMQ_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(HMQ_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Libraries in link order (a layer before the layers it uses).
set(HMQ_PC_LIBS "")
foreach(lib hmq_link hmq_tls hmq_envelope hmq_mqtt)
  if(TARGET ${lib})
    string(APPEND HMQ_PC_LIBS " -l${lib}")
  endif()
endforeach()
set(HMQ_PC_REQUIRES_PRIVATE "")
set(HMQ_PC_LIBS_PRIVATE "")
if(TARGET hmq_tls)
  set(HMQ_PC_LIBS_PRIVATE "-lmbedtls -lmbedx509 -lmbedcrypto")
endif()
if(TARGET hmq_tls AND PKG_CONFIG_FOUND)
  pkg_check_modules(HMQ_PC_MBEDTLS QUIET mbedtls mbedx509 mbedcrypto)
  if(HMQ_PC_MBEDTLS_FOUND)
    set(HMQ_PC_REQUIRES_PRIVATE "mbedtls, mbedx509, mbedcrypto")
    set(HMQ_PC_LIBS_PRIVATE "")
  endif()
endif()
# <hmq/tls.h> needs the mbedTLS headers; name their directory unless it is
# the compiler's default.
set(HMQ_PC_EXTRA_CFLAGS "")
if(MBEDTLS_INCLUDE_DIR AND NOT MBEDTLS_INCLUDE_DIR IN_LIST CMAKE_C_IMPLICIT_INCLUDE_DIRECTORIES
   AND NOT HMQ_PC_MBEDTLS_FOUND)
  set(HMQ_PC_EXTRA_CFLAGS " -I${MBEDTLS_INCLUDE_DIR}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/hmq.pc.in ${PROJECT_BINARY_DIR}/hmq.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hmq.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# One .pc per layer, for projects that take only part of hmq:
# hmq-mqtt (libc only), hmq-envelope, hmq-tls, hmq-link.
function(hmq_layer_pc layer desc requires)
  if(NOT TARGET hmq_${layer})
    return()
  endif()
  set(HMQ_PC_LAYER ${layer})
  set(HMQ_PC_DESC "${desc}")
  set(HMQ_PC_LAYER_REQUIRES "${requires}")
  set(HMQ_PC_LAYER_REQUIRES_PRIVATE "")
  set(HMQ_PC_LAYER_LIBS_PRIVATE "")
  set(HMQ_PC_LAYER_CFLAGS "")
  if(layer STREQUAL "tls")
    set(HMQ_PC_LAYER_REQUIRES_PRIVATE "${HMQ_PC_REQUIRES_PRIVATE}")
    set(HMQ_PC_LAYER_LIBS_PRIVATE "${HMQ_PC_LIBS_PRIVATE}")
    set(HMQ_PC_LAYER_CFLAGS "${HMQ_PC_EXTRA_CFLAGS}")
  endif()
  configure_file(${CMAKE_CURRENT_FUNCTION_LIST_DIR}/hmq-layer.pc.in
    ${PROJECT_BINARY_DIR}/hmq-${layer}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/hmq-${layer}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()
hmq_layer_pc(mqtt "hmq MQTT 5 codec and client engine (sans I/O, libc only)" "")
hmq_layer_pc(envelope "hmq parser for High Mobility's JSON envelope" "hmq-mqtt")
hmq_layer_pc(tls "hmq TCP + mbedTLS transport" "hmq-mqtt")
hmq_layer_pc(link "hmq link: transport + engine + reconnect policy" "hmq-tls, hmq-mqtt")
