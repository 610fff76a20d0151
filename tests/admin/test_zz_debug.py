from tests.conftest import sign_in
from tests.admin.test_browser import field
def test_debug(browser_site, new_page):
    page = new_page(locale="en-US")
    sign_in(page, browser_site, "musicschool", "grace@musicschool.demo")
    page.goto(browser_site.url("musicschool", "/appointmenttypeview/add"))
    select = field(page, "Currency")
    print(select.evaluate("e => e.outerHTML.slice(0, 300)"))
    sib = select.locator("xpath=following-sibling::*[1]")
    print(sib.evaluate("e => e.outerHTML.slice(0, 500)"))
    sib.click()
    page.keyboard.type("Euro")
    page.screenshot(path="/tmp/adminui/s2.png")
    print(page.evaluate("document.activeElement.outerHTML.slice(0,300)"))
    print(page.locator(".select2-results__option").all_inner_texts()[:10])
