# env: OAUTH_CLIENT_SECRET=f1e2d3c4b5a69788 KEYCLOAK_URL=https://sso.example.org
"""GenericOAuthenticator against a Keycloak realm (OpenID Connect)."""
import os

c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = 'oauthenticator.generic.GenericOAuthenticator'

realm = os.environ.get('KEYCLOAK_REALM', 'research')
base = os.environ['KEYCLOAK_URL'].strip('/') + '/realms/' + realm + '/protocol/openid-connect'

c.GenericOAuthenticator.client_id = os.environ.get('OAUTH_CLIENT_ID', 'jupyterhub')
c.GenericOAuthenticator.client_secret = os.environ['OAUTH_CLIENT_SECRET']
c.GenericOAuthenticator.oauth_callback_url = 'https://{host}/hub/oauth_callback'.format(host='hub.example.org')

c.GenericOAuthenticator.authorize_url = f'{base}/auth'
c.GenericOAuthenticator.token_url = f'{base}/token'
c.GenericOAuthenticator.userdata_url = f'{base}/userinfo'
c.GenericOAuthenticator.logout_redirect_url = base + '/logout'

c.GenericOAuthenticator.login_service = 'Keycloak'
c.GenericOAuthenticator.username_claim = 'preferred_username'
c.GenericOAuthenticator.scope = ['openid', 'profile', 'email']
c.GenericOAuthenticator.scope.append('groups')

# Group-based access from the 'groups' claim stored in auth_state
c.GenericOAuthenticator.manage_groups = True
c.GenericOAuthenticator.auth_state_groups_key = 'oauth_user.groups'
c.GenericOAuthenticator.allowed_groups = {'jupyter-users', 'staff'}
c.GenericOAuthenticator.admin_groups = {'jupyter-admins'}

c.GenericOAuthenticator.enable_auth_state = True
c.GenericOAuthenticator.userdata_params = {'state': 'state'}
c.GenericOAuthenticator.validate_server_cert = True
c.GenericOAuthenticator.basic_auth = False
