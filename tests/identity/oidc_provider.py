"""A real OpenID Connect provider on loopback, built with authlib's server side, in place of
a Clerk instance's OAuth application (same endpoint paths as Clerk's Frontend API).

The authorization code flow with ID tokens signed by an RSA key published at the JWKS
endpoint, and a userinfo endpoint behind bearer tokens. "Signing in at Clerk" is a form post
naming the Clerk user id.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oidc.core import AuthorizationCodeMixin, UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

SCOPES = "openid email profile"


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in SCOPES.split())

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return (
            method in ("client_secret_basic", "client_secret_post") if endpoint == "token" else True
        )

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    subject: str
    nonce: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time


@dataclass
class Token(TokenMixin):
    access_token: str
    client: Client
    scope: str
    subject: str
    issued_at: int = field(default_factory=lambda: int(time.time()))
    expires_in: int = 3600

    def check_client(self, client):
        return client.client_id == self.client.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self):
        return False

    def get_user(self):
        return self.subject

    def get_client(self):
        return self.client


class ClerkLikeProvider:
    """``provider.people[clerk_user_id] = {"email": …, "email_verified": True, …}``."""

    def __init__(self, client_id: str, client_secret: str, redirect_uris: list[str]):
        self.client = Client(client_id, client_secret, redirect_uris)
        self.people: dict[str, dict] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, Token] = {}
        self.key = RSAKey.generate_key(2048, auto_kid=True)
        self._server = make_server("127.0.0.1", 0, self._build_app(), threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(  # a short poll: stop() waits for the loop to look
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> ClerkLikeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def claims(self, subject: str, scope: str) -> UserInfo:
        person = self.people[subject]
        info = UserInfo(
            sub=subject,
            email=person["email"],
            email_verified=person.get("email_verified", True),
            given_name=person.get("given_name"),
            family_name=person.get("family_name"),
        )
        return info.filter(scope)

    def _build_app(self) -> Flask:
        provider = self
        app = Flask("clerk-like-oidc")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 3600}

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, request):
                provider.codes[code] = AuthorizationCode(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope,
                    subject=request.user,
                    nonce=request.payload.data.get("nonce"),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.subject

        class ClerkOpenIDCode(OpenIDCode):
            def exists_nonce(self, nonce, request):
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_claims(self, client):
                return {"iss": provider.issuer, "aud": [client.client_id]}

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": provider.key.kid}

            def generate_user_info(self, user, scope):
                return provider.claims(user, scope)

        class Bearer(BearerTokenValidator):
            def authenticate_token(self, token_string):
                return provider.tokens.get(token_string)

        class ClerkUserInfo(UserInfoEndpoint):
            def generate_user_info(self, user, scope):
                return provider.claims(user, scope)

        def save_token(token, request):
            provider.tokens[token["access_token"]] = Token(
                token["access_token"], request.client, token.get("scope", ""), request.user
            )

        server = AuthorizationServer(
            app,
            query_client=lambda cid: self.client if cid == self.client.client_id else None,
            save_token=save_token,
        )
        server.register_grant(CodeGrant, [ClerkOpenIDCode(require_nonce=True)])
        protector = ResourceProtector()
        protector.register_token_validator(Bearer())
        server.register_endpoint(ClerkUserInfo(resource_protector=protector))

        @app.get("/.well-known/openid-configuration")
        def metadata():
            return jsonify(
                issuer=self.issuer,
                authorization_endpoint=f"{self.issuer}/oauth/authorize",
                token_endpoint=f"{self.issuer}/oauth/token",
                userinfo_endpoint=f"{self.issuer}/oauth/userinfo",
                jwks_uri=f"{self.issuer}/.well-known/jwks.json",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                scopes_supported=SCOPES.split(),
                token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
                claims_supported=["sub", "email", "email_verified", "given_name", "family_name"],
            )

        @app.get("/.well-known/jwks.json")
        def jwks():
            return jsonify(KeySet([self.key]).as_dict(private=False))

        @app.route("/oauth/authorize", methods=["GET", "POST"])
        def authorize():
            if request.method == "GET":
                server.get_consent_grant(end_user=None)  # validates client, redirect, nonce
                return "<form method=post><input name=subject><button>Sign in</button></form>"
            subject = request.form.get("subject")
            return server.create_authorization_response(
                grant_user=subject if subject in self.people else None
            )

        @app.post("/oauth/token")
        def issue_token():
            return server.create_token_response()

        @app.get("/oauth/userinfo")
        def userinfo():
            return server.create_endpoint_response("userinfo")

        return app
