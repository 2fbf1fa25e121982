# Drives rack-oauth2 (Debian's ruby-rack-oauth2), unmodified, for rack-oauth2.test.ts.
#
# Reads one JSON object on stdin naming the server and the credentials, runs the requests below
# with Rack::OAuth2::Client#access_token!, and prints one JSON line per request: what rack-oauth2
# sent (the decoded header and claims of each assertion in the form) and what came back (the
# access token, or the OAuth error).
require 'json'
require 'openssl'
require 'securerandom'
require 'uri'
require 'rack/oauth2'
require 'json/jwt'

JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

def decode(jwt)
  header, claims = jwt.split('.').first(2).map { |part| JSON.parse(Base64.urlsafe_decode64(part + '=' * (-part.length % 4))) }
  { header: header, claims: claims }
end

# Records the form of every request through HTTPClient's request filters, the hook rack-oauth2
# offers on its HTTP client (Rack::OAuth2.http_config); its own debugger uses the same.
class Recorder
  attr_accessor :forms

  def initialize
    @forms = []
  end

  def filter_request(request)
    body = request.dump.split("\r\n\r\n", 2)[1].to_s
    @forms << URI.decode_www_form(body).to_h
  end

  def filter_response(_request, _response); end
end

RECORDER = Recorder.new
Rack::OAuth2.http_config { |http| http.request_filter << RECORDER }

def run(name)
  RECORDER.forms = []
  result = { step: name }
  begin
    result[:access_token] = yield.access_token
  rescue Rack::OAuth2::Client::Error => e
    result[:status] = e.status
    result[:error] = e.response[:error]
  end
  form = RECORDER.forms.last || {}
  result[:sent] = %w[client_assertion assertion].each_with_object({}) do |key, sent|
    sent[key] = decode(form[key]) if form[key]
  end
  result[:grant_type] = form['grant_type']
  result[:client_assertion_type] = form['client_assertion_type']
  puts JSON.generate(result)
  $stdout.flush
end

config = JSON.parse($stdin.read)
endpoint = config['token_endpoint']
rsa = OpenSSL::PKey::RSA.new(config['private_key'])

# private_key_jwt: the client's RSA key; rack-oauth2 builds and signs the assertion.
run('private_key_jwt') do
  client = Rack::OAuth2::Client.new(identifier: config['client_id'], private_key: rsa, token_endpoint: endpoint)
  client.access_token!(:jwt_bearer, scope: 'read')
end

# client_secret_jwt: no private key, so the secret signs (HS256); the options form of the method.
run('client_secret_jwt') do
  client = Rack::OAuth2::Client.new(identifier: config['secret_client_id'], secret: config['secret'], token_endpoint: endpoint)
  client.access_token!(client_auth_method: :jwt_bearer)
end

# The same client, signing with a key given as a JWK with a kid (json-jwt then sends the kid).
run('private_key_jwt_jwk') do
  jwk = JSON::JWK.new(rsa, kid: config['kid'])
  client = Rack::OAuth2::Client.new(identifier: config['jwk_client_id'], private_key: jwk, token_endpoint: endpoint)
  client.access_token!(:jwt_bearer)
end

# The jwt-bearer grant: the app signs the grant assertion; the client authenticates with its key.
run('grant') do
  grant_key = OpenSSL::PKey::RSA.new(config['grant_key'])
  assertion = JSON::JWT.new(
    iss: config['grant_issuer'],
    sub: config['grant_subject'],
    aud: config['issuer'],
    jti: SecureRandom.hex(16),
    iat: Time.now,
    exp: Time.now + 300
  ).sign(grant_key, :RS256).to_s
  client = Rack::OAuth2::Client.new(identifier: config['client_id'], private_key: rsa, token_endpoint: endpoint)
  client.jwt_bearer = assertion
  client.access_token!(:jwt_bearer, scope: 'read')
end

# The caller's own client assertion (`client_assertion:`), with aud = the issuer.
run('own_assertion') do
  own = JSON::JWT.new(
    iss: config['client_id'],
    sub: config['client_id'],
    aud: config['issuer'],
    jti: SecureRandom.hex(16),
    iat: Time.now,
    exp: Time.now + 180
  ).sign(rsa).to_s
  client = Rack::OAuth2::Client.new(identifier: config['client_id'], token_endpoint: endpoint)
  client.access_token!(:jwt_bearer, client_assertion: own)
end

# A key that is not the one registered for the client.
run('unregistered_key') do
  other = OpenSSL::PKey::RSA.new(config['unregistered_key'])
  client = Rack::OAuth2::Client.new(identifier: config['client_id'], private_key: other, token_endpoint: endpoint)
  client.access_token!(:jwt_bearer)
end
