# expect: 10:1 unsupported class
"""Subclassing an authenticator to normalise usernames."""
from oauthenticator.generic import GenericOAuthenticator

c = get_config()  # noqa: F821
c.GenericOAuthenticator.client_id = 'jupyterhub'
c.GenericOAuthenticator.scope = ['openid', 'email']


class EmailAuthenticator(GenericOAuthenticator):
    def user_info_to_username(self, user_info):
        return user_info['email'].split('@')[0]


c.JupyterHub.authenticator_class = EmailAuthenticator
