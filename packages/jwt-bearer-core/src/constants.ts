/** `grant_type` value of the RFC 7523 §2.1 JWT bearer authorization grant. */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** `client_assertion_type` value of RFC 7523 §2.2 JWT client authentication. */
export const JWT_BEARER_CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
