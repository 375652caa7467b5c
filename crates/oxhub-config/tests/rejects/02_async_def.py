# expect: 9:1 unsupported def
"""An async auth_state hook."""

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = 'generic'
c.GenericOAuthenticator.enable_auth_state = True
c.GenericOAuthenticator.scope = ['openid', 'profile']

async def auth_state_hook(spawner, auth_state):
    spawner.environment['ACCESS_TOKEN'] = auth_state['access_token']

c.Spawner.auth_state_hook = auth_state_hook
