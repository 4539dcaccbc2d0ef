# SPDX-License-Identifier: Apache-2.0
#
# What `cmake --install` puts in place besides the module and the CLI (their
# install() lines are in provider/ and src/): README.md, the example
# configuration and the conf/ examples (systemd drop-ins and refresh units,
# Postfix) in DOCDIR; with DOMAINSEC_INSTALL_ETC the example configuration
# in SYSCONFDIR/domainsec/domainsec.cnf with empty roots/ and cross/; with
# DOMAINSEC_INSTALL_SYSTEMD the refresh service and timer. The Debian
# package (debian/rules) turns both options on, so `cmake --install` with
# them and the package install the same files (.ci/pkgtest compares them).
# The systemd files name the CLI as /usr/local/bin/domainsec and the refresh
# service's configuration as /etc/ssl/domainsec.cnf: the installed copies
# name this install's bindir (and SYSCONFDIR/domainsec/domainsec.cnf when
# that is installed).

set(dsec_etc "${CMAKE_INSTALL_FULL_SYSCONFDIR}/domainsec")
file(GLOB_RECURSE dsec_units RELATIVE "${CMAKE_SOURCE_DIR}/conf/systemd"
    "${CMAKE_SOURCE_DIR}/conf/systemd/*")
foreach(unit IN LISTS dsec_units)
    file(READ "${CMAKE_SOURCE_DIR}/conf/systemd/${unit}" text)
    string(REPLACE "/usr/local/bin/domainsec"
        "${CMAKE_INSTALL_FULL_BINDIR}/domainsec" text "${text}")
    if(DOMAINSEC_INSTALL_ETC)
        string(REPLACE "/etc/ssl/domainsec.cnf" "${dsec_etc}/domainsec.cnf"
            text "${text}")
    endif()
    file(GENERATE OUTPUT "${CMAKE_BINARY_DIR}/systemd/${unit}"
        CONTENT "${text}")
endforeach()

install(FILES README.md conf/domainsec.cnf
    DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY conf/postfix/
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/postfix)
install(DIRECTORY "${CMAKE_BINARY_DIR}/systemd/"
    DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/systemd)

if(DOMAINSEC_INSTALL_ETC)
    install(FILES conf/domainsec.cnf DESTINATION "${dsec_etc}")
    install(DIRECTORY DESTINATION "${dsec_etc}/roots")
    install(DIRECTORY DESTINATION "${dsec_etc}/cross")
endif()

if(DOMAINSEC_INSTALL_SYSTEMD)
    install(FILES "${CMAKE_BINARY_DIR}/systemd/domainsec-refresh.service"
        "${CMAKE_BINARY_DIR}/systemd/domainsec-refresh.timer"
        DESTINATION ${DOMAINSEC_SYSTEMDUNITDIR})
endif()
