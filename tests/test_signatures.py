"""Only a sender that knows the webhook secret gets in; an unset secret lets nobody in."""

import base64
import hashlib
import hmac

import pytest

from bot.http.signatures import authenticated, claimed

SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
# GitHub's published test vector for X-Hub-Signature-256.
GITHUB_VECTOR = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
PROVIDERS = ["github", "gitlab", "buildbot", "jenkins", "generic"]


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_githubs_published_test_vector_is_accepted() -> None:
    headers = {"X-Hub-Signature-256": GITHUB_VECTOR}
    assert authenticated("github", headers, BODY, SECRET)


def test_a_body_changed_after_signing_is_refused() -> None:
    headers = {"X-Hub-Signature-256": GITHUB_VECTOR}
    assert not authenticated("github", headers, b"Hello, World?", SECRET)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    headers = {"X-Hub-Signature-256": signed(BODY, "guessed")}
    assert not authenticated("github", headers, BODY, SECRET)


def test_header_names_are_matched_whatever_their_case() -> None:
    assert authenticated("github", {"x-hub-signature-256": GITHUB_VECTOR}, BODY, SECRET)
    assert authenticated("github", {"X-HUB-SIGNATURE-256": GITHUB_VECTOR}, BODY, SECRET)


@pytest.mark.parametrize("secret", [None, ""])
def test_an_unset_secret_closes_the_door_even_to_a_matching_signature(secret: str | None) -> None:
    headers = {
        "X-Hub-Signature-256": signed(BODY, ""),
        "X-Andon-Signature": signed(BODY, ""),
        "Authorization": "Bearer ",
        "X-Gitlab-Token": "",
    }
    for provider in PROVIDERS:
        assert not authenticated(provider, headers, BODY, secret)


def test_a_request_without_any_credential_is_refused() -> None:
    assert not authenticated("jenkins", {"Content-Type": "application/json"}, BODY, SECRET)


def test_gitlab_sends_the_secret_as_its_token() -> None:
    assert authenticated("gitlab", {"X-Gitlab-Token": SECRET}, BODY, SECRET)
    assert not authenticated("gitlab", {"X-Gitlab-Token": "wrong"}, BODY, SECRET)


def test_a_providers_own_header_counts_only_for_that_provider() -> None:
    assert not authenticated("jenkins", {"X-Gitlab-Token": SECRET}, BODY, SECRET)
    assert not authenticated("gitlab", {"X-Hub-Signature-256": GITHUB_VECTOR}, BODY, SECRET)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_accepts_andons_own_signature(provider: str) -> None:
    assert authenticated(provider, {"X-Andon-Signature": signed(BODY)}, BODY, SECRET)
    assert not authenticated(provider, {"X-Andon-Signature": signed(b"other")}, BODY, SECRET)


def test_a_signature_without_its_sha256_prefix_is_refused() -> None:
    bare = signed(BODY).removeprefix("sha256=")
    assert not authenticated("generic", {"X-Andon-Signature": bare}, BODY, SECRET)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_accepts_the_secret_as_a_bearer_token(provider: str) -> None:
    assert authenticated(provider, {"Authorization": f"Bearer {SECRET}"}, BODY, SECRET)
    assert authenticated(provider, {"authorization": f"bearer {SECRET}"}, BODY, SECRET)
    assert not authenticated(provider, {"Authorization": "Bearer nope"}, BODY, SECRET)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_accepts_basic_auth_with_the_secret_as_password(provider: str) -> None:
    assert authenticated(provider, {"Authorization": basic("buildbot", SECRET)}, BODY, SECRET)
    assert not authenticated(provider, {"Authorization": basic(SECRET, "x")}, BODY, SECRET)


def test_basic_auth_that_is_not_base64_is_refused() -> None:
    assert not authenticated("buildbot", {"Authorization": "Basic %%%"}, BODY, SECRET)


def test_a_request_without_any_credential_is_known_before_its_body_is_read() -> None:
    """Such a request is refused unread: a stranger's megabytes are never held for nothing."""
    assert not claimed("generic", {"Content-Type": "application/json"})
    assert not claimed("jenkins", {"X-Hub-Signature-256": GITHUB_VECTOR})  # GitHub's own only
    assert not claimed("generic", {"X-Gitlab-Token": SECRET})
    assert claimed("github", {"x-hub-signature-256": GITHUB_VECTOR})
    assert claimed("gitlab", {"X-Gitlab-Token": "anything"})
    for provider in PROVIDERS:
        assert claimed(provider, {"X-Andon-Signature": "sha256=0"})
        assert claimed(provider, {"Authorization": "Bearer x"})
