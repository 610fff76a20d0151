"""The teaching portal shows an instructor what they may teach."""


def test_instructor_sees_their_qualified_types_only(visit):
    page = visit("musicschool", "nadia@musicschool.demo").get("/teaching/").data.decode()

    assert "Music theory (online)" in page and "Piano lesson (60 min)" in page
    assert "Piano lesson (30 min)" not in page


def test_portal_is_for_instructors_of_this_school_only(visit):
    yoga_instructor = visit("musicschool")
    yoga_instructor.login("iris@yogastudio.demo")

    assert yoga_instructor.get("/teaching/").status_code == 403
