# The .deb and the .rpm (CPack). Included from the top CMakeLists.txt, after install.cmake (CPack
# must be included there so that `cpack` runs in the build directory). README.md, "Packages":
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build
#   (cd build && cpack -G DEB && cpack -G RPM)
# Whatever CMAKE_INSTALL_PREFIX the build used, the packages install under /usr: every path
# the install rules use is relative to the prefix (the aliases are relative links, the plugins
# are found relative to the binary), so CPack can move them.

# Values reach the packages as written (else CPack writes quotes unescaped into its config).
set(CPACK_VERBATIM_VARIABLES ON)
set(CPACK_PACKAGE_NAME docker-credential-keyring)
set(CPACK_PACKAGE_VENDOR "docker-credential-keyring")
set(CPACK_PACKAGE_CONTACT "${DCK_CONTACT}")
# One summary and one description for both formats. The summary starts with a capital (rpmlint)
# and is a phrase (lintian); the description's lines fit in 79 columns.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Credential helper keeping docker and podman registry logins in a keyring")
set(CPACK_PACKAGE_DESCRIPTION_FILE ${DCK_PACKAGING_DIR}/description.txt)
# Given to each generator as read: CPack would hand them the file's text XML-escaped (&apos;).
file(READ ${CPACK_PACKAGE_DESCRIPTION_FILE} dck_description)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "${dck_description}")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${dck_description}")
set(CPACK_PACKAGE_HOMEPAGE_URL "${DCK_HOMEPAGE}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB RPM)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

# Dependencies are computed, from every ELF file of the package: the plugins link libsecret and
# libcurl normally for that (store/base/plugin.h). A library loaded by soname outside a plugin
# would be missed; the packaging test fails on one.

# Debian: dpkg-shlibdeps (package dpkg-dev) on every ELF file, the plugins included.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "gnome-keyring")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "docker.io | podman")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# RPM: rpmbuild's generator adds what the ELF files link; the changelog is the Debian one
# rewritten in rpm's form (below). No weak dependencies: CMake 3.25's CPack drops them with
# rpm 4.18 (its tag check does not know them).
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_LICENSE MIT)
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_SPEC_MORE_DEFINE "%define packager ${DCK_CONTACT}")
# The package owns its own directories only, not the system's it puts files in.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /usr/share/man /usr/share/man/man1
  /usr/share/doc)
if(NOT IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR})
  list(APPEND CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /usr/${CMAKE_INSTALL_LIBDIR})
endif()
set(CPACK_RPM_CHANGELOG_FILE ${DCK_GENERATED_DIR}/rpm-changelog)
include(${DCK_PACKAGING_DIR}/rpm-changelog.cmake)
dck_rpm_changelog(${DCK_PACKAGING_DIR}/changelog ${CPACK_RPM_PACKAGE_RELEASE}
  ${CPACK_RPM_CHANGELOG_FILE})

include(CPack)
