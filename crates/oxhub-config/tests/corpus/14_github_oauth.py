# env: GITHUB_CLIENT_ID=Iv1.8a61f9b3a7aba766 GITHUB_CLIENT_SECRET=1470c9a1e1d5b8f2a6e3c4d7b9e0f1a2b3c4d5e6 ADMINS=alice,bob,,carol
"""GitHub login for members of an organisation; admins listed in $ADMINS."""
import os

from oauthenticator.github import GitHubOAuthenticator

c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = GitHubOAuthenticator

c.GitHubOAuthenticator.client_id = os.getenv('GITHUB_CLIENT_ID')
c.GitHubOAuthenticator.client_secret = os.getenv('GITHUB_CLIENT_SECRET')
c.GitHubOAuthenticator.oauth_callback_url = os.getenv(
    'OAUTH_CALLBACK_URL', 'https://hub.example.org/hub/oauth_callback'
)

c.GitHubOAuthenticator.allowed_organizations = {'example-org', 'example-org:data-science'}
c.GitHubOAuthenticator.scope = ['read:org']
c.GitHubOAuthenticator.populate_teams_in_auth_state = True

c.Authenticator.admin_users = set()
for name in os.environ.get('ADMINS', '').split(','):
    name = name.strip().lower()
    if name:
        c.Authenticator.admin_users.add(name)
        print('admin:', name)

c.Authenticator.enable_auth_state = True
