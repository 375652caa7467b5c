# env: LDAP_BIND_PASSWORD=Sv3-b1nd-pw
"""LDAPAuthenticator against Active Directory over LDAPS (TLS on connect)."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = 'ldapauthenticator.LDAPAuthenticator'

c.LDAPAuthenticator.server_address = 'ad.corp.example.com'
c.LDAPAuthenticator.server_port = 636
c.LDAPAuthenticator.tls_strategy = 'on_connect'
c.LDAPAuthenticator.tls_kwargs = {'ca_certs_file': '/etc/ssl/certs/corp-ca.pem'}

# Users sit in one of two OUs
c.LDAPAuthenticator.bind_dn_template = [
    'uid={username},ou=people,dc=corp,dc=example,dc=com',
    'uid={username},ou=contractors,dc=corp,dc=example,dc=com',
]

# ...or find the DN with a service account
c.LDAPAuthenticator.lookup_dn = True
c.LDAPAuthenticator.user_search_base = 'dc=corp,dc=example,dc=com'
c.LDAPAuthenticator.user_attribute = 'sAMAccountName'
c.LDAPAuthenticator.lookup_dn_user_dn_attribute = 'cn'
c.LDAPAuthenticator.lookup_dn_search_user = 'CN=svc-jupyterhub,OU=Service Accounts,DC=corp,DC=example,DC=com'
c.LDAPAuthenticator.lookup_dn_search_password = os.environ['LDAP_BIND_PASSWORD']
c.LDAPAuthenticator.lookup_dn_search_filter = '({login_attr}={login})'

c.LDAPAuthenticator.allowed_groups = [
    'CN=jupyter-users,OU=Groups,DC=corp,DC=example,DC=com',
    'CN=jupyter-admins,OU=Groups,DC=corp,DC=example,DC=com',
]
c.LDAPAuthenticator.valid_username_regex = r'^[a-z][.a-z0-9_-]*$'
c.LDAPAuthenticator.auth_state_attributes = ['mail', 'displayName']
c.LDAPAuthenticator.use_lookup_dn_username = False
c.Authenticator.enable_auth_state = True
