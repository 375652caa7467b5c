# env: JPY_COOKIE_SECRET=5f2d6a1c9b8e7f60a4d3c2b1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1 JUPYTERHUB_CRYPT_KEY=9a8b7c6d5e4f30211f2e3d4c5b6a79880a1b2c3d4e5f60718293a4b5c6d7e8f9;00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
"""Security settings, after the "Security settings" chapter of the JupyterHub docs.

- the cookie secret comes from JPY_COOKIE_SECRET (hex) when set, else from a file;
- auth_state is persisted, encrypted with the keys in JUPYTERHUB_CRYPT_KEY;
- login cookies live one week.
"""
import os

c = get_config()  # noqa: F821

c.JupyterHub.cookie_secret_file = '/srv/jupyterhub/jupyterhub_cookie_secret'

if 'JPY_COOKIE_SECRET' in os.environ:
    # 32 random bytes, hex-encoded: openssl rand -hex 32
    c.JupyterHub.cookie_secret = bytes.fromhex(os.environ['JPY_COOKIE_SECRET'])

c.JupyterHub.cookie_max_age_days = 7
c.JupyterHub.cookie_host_prefix_enabled = True

# Encrypted auth_state; the first key encrypts, the others still decrypt (rotation)
c.Authenticator.enable_auth_state = True
crypt_keys = os.environ.get('JUPYTERHUB_CRYPT_KEY', '').split(';')
c.CryptKeeper.keys = [k.strip() for k in crypt_keys if k.strip()]

# Tokens issued through the API expire after at most 30 days
c.JupyterHub.token_expires_in_max_seconds = 30 * 24 * 3600
c.JupyterHub.oauth_token_expires_in = 8 * 3600

# Refresh auth info often, and strictly
c.Authenticator.auth_refresh_age = 900
c.Authenticator.refresh_pre_spawn = True
