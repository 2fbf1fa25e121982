"""Drives MSAL for Python (Debian's python3-msal), unmodified, for msal-python.test.ts.

Reads one JSON object on the first line of stdin naming the authority, the client and its
certificate, and the scopes of each request. Builds one ConfidentialClientApplication, then for
each request waits for a line on stdin (the test moves the server's clock between requests),
calls acquire_token_for_client and prints one JSON line: the access token, or the OAuth error.
"""
import json
import sys

import msal


def main():
    config = json.loads(sys.stdin.readline())
    app = msal.ConfidentialClientApplication(
        config['client_id'],
        authority=config['authority'],
        client_credential={
            'private_key': config['private_key'],
            'thumbprint': config['thumbprint'],
            'public_certificate': config['certificate'],
        },
        # The authority host's self-signed certificate, trusted as a CA bundle file.
        verify=config['ca_file'],
        # No call to login.microsoftonline.com about an authority it does not know.
        instance_discovery=False,
    )
    for scopes in config['requests']:
        if not sys.stdin.readline():
            break
        result = app.acquire_token_for_client(scopes)
        print(json.dumps({'scopes': scopes, 'access_token': result.get('access_token'), 'error': result.get('error')}), flush=True)


if __name__ == '__main__':
    main()
