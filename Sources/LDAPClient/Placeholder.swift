// Replaced by the libldap wrapper (issue 5).
enum LDAPClientPlaceholder {}
