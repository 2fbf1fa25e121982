"""Drives Authlib (Debian's python3-authlib), unmodified, for authlib.test.ts.

Reads one JSON object on stdin naming the server and the credentials, runs the requests below
with Authlib's requests integration, and prints one JSON line per request: what Authlib sent
(the decoded assertion) and what came back (the access token, or the OAuth error).
"""
import base64
import json
import sys
from urllib.parse import unquote_plus

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import AssertionSession, OAuth2Session
from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT

JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'


def claims_of(jwt):
    payload = jwt.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))


def run(name, session, fetch):
    """Runs one token request; records the assertion Authlib put in the form."""
    sent = {}

    def record(response, *args, **kwargs):
        body = response.request.body or ''
        if isinstance(body, bytes):
            body = body.decode()
        for pair in body.split('&'):
            key, _, value = pair.partition('=')
            if key in ('client_assertion', 'assertion'):
                sent[key] = claims_of(unquote_plus(value))

    session.hooks['response'] = [record]
    result = {'step': name}
    try:
        token = fetch()
        result['access_token'] = token['access_token']
    except OAuthError as err:
        result['error'] = err.error
    result['sent'] = sent
    print(json.dumps(result), flush=True)


def main():
    config = json.load(sys.stdin)
    endpoint = config['token_endpoint']

    # private_key_jwt as Authlib documents it: aud = the token endpoint URL.
    session = OAuth2Session(config['client_id'], config['private_key'], token_endpoint_auth_method='private_key_jwt')
    session.register_client_auth_method(PrivateKeyJWT(endpoint))
    run('private_key_jwt', session, lambda: session.fetch_token(endpoint, grant_type='client_credentials', scope='read'))

    # client_secret_jwt (HS256), same aud.
    session = OAuth2Session(config['secret_client_id'], config['secret'], token_endpoint_auth_method='client_secret_jwt')
    session.register_client_auth_method(ClientSecretJWT(endpoint))
    run('client_secret_jwt', session, lambda: session.fetch_token(endpoint, grant_type='client_credentials'))

    # private_key_jwt with aud overridden to the issuer through `claims`, twice on one session.
    session = OAuth2Session(config['client_id'], config['private_key'], token_endpoint_auth_method='private_key_jwt')
    session.register_client_auth_method(PrivateKeyJWT(endpoint, claims={'aud': config['issuer']}))
    for step in ('issuer_aud_first', 'issuer_aud_second'):
        run(step, session, lambda: session.fetch_token(endpoint, grant_type='client_credentials'))

    # The jwt-bearer grant: AssertionSession signs the grant assertion.
    session = AssertionSession(
        endpoint,
        issuer=config['grant_issuer'],
        subject=config['grant_subject'],
        audience=config['issuer'],
        grant_type=JWT_BEARER,
        key=config['grant_key'],
        header={'alg': 'RS256'},
        scope='read',
    )
    run('grant', session, lambda: session.refresh_token())


if __name__ == '__main__':
    main()
