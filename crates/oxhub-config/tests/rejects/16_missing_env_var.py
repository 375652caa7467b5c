# expect: 8:41 runtime MISSING_VAR
"""os.environ[...] of a variable that is not set fails like KeyError in Python."""
import os

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = 'generic'
c.GenericOAuthenticator.client_id = os.environ.get('OAUTH_CLIENT_ID', 'jupyterhub')
c.GenericOAuthenticator.client_secret = os.environ['MISSING_VAR']
