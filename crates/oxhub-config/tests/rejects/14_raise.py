# expect: 10:5 unsupported raise
"""Failing early when a secret is missing."""
import os

c = get_config()  # noqa: F821
c.JupyterHub.authenticator_class = 'github'
c.GitHubOAuthenticator.scope = ['read:org']

if not os.environ.get('GITHUB_CLIENT_SECRET'):
    raise RuntimeError('GITHUB_CLIENT_SECRET must be set')
c.GitHubOAuthenticator.client_secret = os.environ['GITHUB_CLIENT_SECRET']
