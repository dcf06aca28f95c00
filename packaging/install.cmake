# What is installed besides the binary, its aliases and the plugins: the documentation (README
# and docs/ side by side, so the README's links resolve where it is installed), the man pages,
# the changelog and a Debian (DEP-5) copyright file. `cmake --install`, the .deb and the .rpm
# all get the same files. Compressed files are made with gzip -9n: no name, no time stamp, so
# two builds of one source give the same bytes.

set(DCK_CONTACT "docker-credential-keyring maintainers <maintainers@docker-credential-keyring.invalid>")
set(DCK_HOMEPAGE "https://github.com/docker-credential-keyring/docker-credential-keyring")
set(DCK_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})
set(DCK_GENERATED_DIR ${CMAKE_BINARY_DIR}/packaging)
find_program(DCK_GZIP gzip)
if(NOT DCK_GZIP)
  message(FATAL_ERROR "gzip is needed to compress the man pages and the changelog")
endif()

# dck_gzip(SOURCE NAME): NAME.gz in the build's packaging/ directory, made from SOURCE.
function(dck_gzip source name)
  add_custom_command(OUTPUT ${DCK_GENERATED_DIR}/${name}.gz
    COMMAND ${CMAKE_COMMAND} -E copy ${source} ${DCK_GENERATED_DIR}/${name}
    COMMAND ${DCK_GZIP} -9nf ${DCK_GENERATED_DIR}/${name}
    DEPENDS ${source} VERBATIM)
  set_property(GLOBAL APPEND PROPERTY DCK_GZIPPED ${DCK_GENERATED_DIR}/${name}.gz)
endfunction()

# The copyright file: the license text of LICENSE in DEP-5 form (one source for both).
file(READ ${PROJECT_SOURCE_DIR}/LICENSE license)
string(REGEX MATCH "Copyright \\(c\\) ([^\n]+)" _ "${license}")
set(DCK_COPYRIGHT "${CMAKE_MATCH_1}")
string(FIND "${license}" "Permission is hereby granted" start)
if(NOT DCK_COPYRIGHT OR start LESS 0)
  message(FATAL_ERROR "LICENSE is not the MIT (Expat) text packaging/copyright.in expects")
endif()
string(SUBSTRING "${license}" ${start} -1 body)
string(STRIP "${body}" body)
string(REPLACE "\n\n" "\n.\n" body "${body}")
string(REPLACE "\n" "\n " DCK_LICENSE_BODY " ${body}")
configure_file(${DCK_PACKAGING_DIR}/copyright.in ${DCK_GENERATED_DIR}/copyright @ONLY)

# The man page carries the version; the aliases' pages are links to it.
configure_file(${DCK_PACKAGING_DIR}/docker-credential-keyring.1.in
  ${DCK_GENERATED_DIR}/src/docker-credential-keyring.1 @ONLY)
dck_gzip(${DCK_GENERATED_DIR}/src/docker-credential-keyring.1 docker-credential-keyring.1)
dck_gzip(${DCK_PACKAGING_DIR}/changelog changelog)
get_property(gzipped GLOBAL PROPERTY DCK_GZIPPED)
add_custom_target(dck_docs ALL DEPENDS ${gzipped})
foreach(alias digitalocean rancher)
  add_custom_command(TARGET dck_docs POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E create_symlink docker-credential-keyring.1.gz
            docker-credential-${alias}.1.gz
    WORKING_DIRECTORY ${DCK_GENERATED_DIR} VERBATIM)
  list(APPEND man_pages ${DCK_GENERATED_DIR}/docker-credential-${alias}.1.gz)
endforeach()

install(FILES ${DCK_GENERATED_DIR}/docker-credential-keyring.1.gz ${man_pages}
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${DCK_GENERATED_DIR}/copyright
  ${DCK_GENERATED_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
  FILES_MATCHING PATTERN "*.md")
# What the docs link to outside docs/, at the same place relative to them (the packaging test
# fails on a link that does not resolve where the docs are installed).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/kubelet/credential-provider-config.yaml
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/packaging/kubelet)
