# Installation and the Debian packages (scripts/package; README.md, "Installing"):
#   lanrage         the client: lanraged, lanrage, lanrage-wg, lanrage-punch, lanraged.service
#   lanrage-server  lanrage-control, lanrage-relay, lanrage-stun and their services
include(GNUInstallDirs)

# Units under the prefix (/usr/lib/systemd/system in the packages); the services'
# defaults files where Debian keeps them, whatever the prefix.
set(LANRAGE_SYSTEMD_DIR lib/systemd/system)
set(LANRAGE_DEFAULT_DIR /etc/default)

install(TARGETS lanraged RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT client)
install(TARGETS lanrage lanrage-wg lanrage-punch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT client)
install(FILES packaging/systemd/lanraged.service DESTINATION ${LANRAGE_SYSTEMD_DIR}
        COMPONENT client)
install(FILES README.md docs/DAEMON.md docs/LOCAL_API.md docs/NAT.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/lanrage COMPONENT client)

install(TARGETS lanrage-control lanrage-relay lanrage-stun RUNTIME
        DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(FILES packaging/systemd/lanrage-control.service packaging/systemd/lanrage-relay.service
        DESTINATION ${LANRAGE_SYSTEMD_DIR} COMPONENT server)
install(FILES packaging/default/lanrage-control packaging/default/lanrage-relay
        DESTINATION ${LANRAGE_DEFAULT_DIR} COMPONENT server)
install(FILES README.md docs/CONTROL_API.md docs/RELAY.md docs/PROTOCOL.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/lanrage-server COMPONENT server)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lanrage)
set(CPACK_PACKAGE_VENDOR "LANrage")
set(CPACK_PACKAGE_CONTACT "LANrage maintainers <maintainers@lanrage.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL client server)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# Depends: from the libraries the programs link (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME lanrage)
set(CPACK_DEBIAN_CLIENT_PACKAGE_RECOMMENDS wireguard-tools)
set(CPACK_COMPONENT_CLIENT_DESCRIPTION
    "virtual LAN for gamers: the daemon and its CLI
 Friends form a party, and every member's machine joins one private LAN over
 encrypted peer-to-peer WireGuard tunnels, so LAN games work across the
 internet.  lanraged runs the party (userspace WireGuard, NAT traversal,
 relays, LAN broadcasts, a web UI on 127.0.0.1:8666); lanrage drives it.")
set(CPACK_DEBIAN_CLIENT_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/client/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/client/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/client/postrm)
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME lanrage-server)
set(CPACK_COMPONENT_SERVER_DESCRIPTION
    "virtual LAN for gamers: coordination server and relay
 lanrage-control keeps parties, hands out virtual addresses and tells members
 about each other (SQLite or PostgreSQL); lanrage-relay forwards traffic for
 members that cannot reach each other directly; lanrage-stun answers STUN.")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/server/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/server/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/server/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/server/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
