// Replaced by the LDAP tests (issue 5).
enum LDAPTestsPlaceholder {}
