"""Helpers for tests that fill in applications the way a user does: section by section, through the web."""

import io
import zipfile

VALID_SECTIONS = {
    "applicant": {
        "partners": "", "contact_name": "Kari Kontakt", "contact_role": "Rådgiver",
        "contact_email": "kari.kontakt@kommune.example", "contact_phone": "+47 22 00 00 00",
    },
    "project": {
        "title": "Kartlegging av diskriminering i kommunale tjenester", "summary": "Vi kartlegger.",
        "description": "En grundig beskrivelse.", "activity_types": ["mapping", "action_plan"],
        "aimed_at": ["authority", "employer"], "target_groups": "Ansatte og innbyggere", "participants": "40",
        "period_start": "2025-05-01", "period_end": "2026-04-30",
    },
    "anchoring": {
        "action_plan": "adopted", "plan_name": "Handlingsplan mot rasisme", "plan_adopted_on": "2024-06-12",
        "plan_link": "https://kommune.example/plan", "plan_goals": "Mål 2 og 3",
        "political_body": "Kommunestyret", "political_date": "2024-06-12", "political_case": "24/1234",
        "administrative": "Kommunedirektøren eier prosjektet.",
    },
    "involvement": {
        "mapping": "planned", "mapping_description": "", "involved": ["affected_groups", "minority_council"],
        "involvement": "Referansegruppe.",
    },
    "transfer": {"transfer_value": "Vi deler metoden i KS-nettverk."},
    "measurement": {"goals": "Færre opplever diskriminering.", "indicators": "Spørreundersøkelse før og etter."},
    "budget": {
        "cost_lines-0-category": "salary", "cost_lines-0-description": "Prosjektleder 50 %",
        "cost_lines-0-amount": "400 000", "cost_lines-1-category": "external",
        "cost_lines-1-description": "Kartlegging", "cost_lines-1-amount": "200000",
        "amount_applied": "450 000", "own_contribution": "150000", "other_funding": "0", "no_running_costs": "y",
    },
    "history": {"earlier_projects": "", "continues": ""},
}


def section_url(application_id, section):
    return f"/soknader/{application_id}/del/{section}"


def save_section(client, application_id, section, data=None, version=None):
    payload = dict(VALID_SECTIONS[section] if data is None else data)
    if version is not None:
        payload["version"] = str(version)
    return client.post(section_url(application_id, section), data=payload)


def fill_everything(client, application_id):
    for section in VALID_SECTIONS:
        response = save_section(client, application_id, section)
        assert response.status_code == 302, (section, response.get_data(as_text=True)[:2000])


def submission_key(client, application_id):
    page = client.get(f"/soknader/{application_id}/kontroll").get_data(as_text=True)
    marker = 'name="submission_key" type="hidden" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


def pdf_bytes():
    return b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def docx_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def odt_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office/>")
    return buffer.getvalue()
