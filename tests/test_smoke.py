"""The app starts, migrates and serves its main pages."""


def test_home_page_lists_threads(client, users):
    from tests.factories import make_thread
    make_thread(users.asker, title="Roaming in Spain not working")
    response = client.get("/")
    assert response.status_code == 200
    assert "Roaming in Spain not working" in response.get_data(as_text=True)
