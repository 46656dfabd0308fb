import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_home_page_renders_in_chromium_and_is_keyboard_navigable(browser_page):
    page, shot = browser_page
    page.goto("/")
    assert page.title() == "NexusCart"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert shot("home").stat().st_size > 0
