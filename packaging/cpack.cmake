# Packaging: the man page, and CPack settings for a .deb and an .rpm. Included from the top
# CMakeLists.txt (CPack must be included there so that `cpack` runs in the build directory).
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build && (cd build && cpack -G DEB)      # or -G RPM (needs rpmbuild)

install(FILES ${CMAKE_CURRENT_LIST_DIR}/docker-credential-keyring.1
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

set(CPACK_PACKAGE_NAME docker-credential-keyring)
set(CPACK_PACKAGE_VENDOR "docker-credential-keyring")
set(CPACK_PACKAGE_CONTACT "docker-credential-keyring maintainers <maintainers@docker-credential-keyring.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "docker/podman credential helper that keeps registry logins in the OS keyring")
set(CPACK_PACKAGE_DESCRIPTION
  "A docker-credential-* helper for docker, podman, buildah and skopeo that keeps registry logins in the Secret Service (gnome-keyring, KeePassXC, KWallet) through libsecret instead of base64 in config.json or auth.json. Works on headless machines: no X11, no prompts without a display, a deadline on every keyring call.")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/docker-credential-keyring/docker-credential-keyring")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_CURRENT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB RPM)
set(CPACK_STRIP_FILES ON)
# The packages install under /usr whatever CMAKE_INSTALL_PREFIX the build used.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

# Debian: shared-library dependencies computed by dpkg-shlibdeps (package dpkg-dev).
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libcurl is loaded with dlopen on the first HTTP request (helper/http.c), libsecret (and GLib
# with it) on the first keyring operation (store/glib_lazy.c), so dpkg-shlibdeps cannot see
# them: name them.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4 (>= 7.78), libsecret-1-0 (>= 0.20), libglib2.0-0 (>= 2.56)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "gnome-keyring")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "docker.io | podman")

# RPM: names as in Fedora/openSUSE; rpmbuild adds the sonames automatically as well.
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE MIT)
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_PACKAGE_REQUIRES "libsecret, json-c, libcurl")
set(CPACK_RPM_PACKAGE_SUGGESTS "gnome-keyring")
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /usr/share/man /usr/share/man/man1)

include(CPack)
