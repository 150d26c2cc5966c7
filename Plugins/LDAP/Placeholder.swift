// Replaced by the LDAP identity provider (issue 5).
enum LDAPPlaceholder {}
