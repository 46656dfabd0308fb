"""A shopper in headless Chromium: sign up, sign out, sign in, add an address (screenshots kept)."""

from __future__ import annotations

import re

import pytest

from apps.user.models import Address, User

EMAIL = "browser.shopper@example.com"
PASSWORD = "Sturdy-Browser-Pass-31"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sign_up_sign_out_sign_in_and_add_an_address(browser_page, live_server):
    page, shot = browser_page
    main = page.get_by_role("main")

    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    shot("01-signup")
    main.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/account/$"))
    assert main.get_by_text(EMAIL, exact=True).is_visible()
    shot("02-account-after-signup")

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign out").click()
    shot("03-signout-confirm")
    main.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    main.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    shot("04-signin-error")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    main.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/account/$"))

    page.get_by_role("link", name="Addresses").click()
    main.get_by_role("link", name="Add an address").click()
    page.get_by_label("Full name").fill("Browser Shopper")
    page.get_by_label("Address line 1").fill("600 Congress Ave")
    page.get_by_label("City").fill("Austin")
    page.get_by_label("State").select_option("TX")
    page.get_by_label("ZIP code").fill("787")
    main.get_by_role("button", name="Add address").click()
    assert page.locator("#id_postal_code_errors").is_visible()
    assert page.get_by_label("ZIP code").get_attribute("aria-invalid") == "true"
    shot("05-address-error")
    page.get_by_label("ZIP code").fill("78701")
    main.get_by_role("button", name="Add address").click()
    page.wait_for_url(re.compile(r"/account/addresses/$"))
    assert main.locator("address").get_by_text("600 Congress Ave").is_visible()
    assert page.get_by_text("Default shipping address").is_visible()
    shot("06-addresses")

    user = User.objects.get(email=EMAIL)
    assert list(Address.objects.filter(user=user).values_list("city", "state", "postal_code")) == [
        ("Austin", "TX", "78701")
    ]
