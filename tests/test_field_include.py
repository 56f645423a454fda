"""The generic field include renders a checkbox as the site's ``.checkbox`` row: the box first,
its label beside it, errors and help kept and linked."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.template.loader import render_to_string

from tests.isolation import Tenant

pytestmark = pytest.mark.django_db


class _Form(forms.Form):
    agree = forms.BooleanField(label="同意する", help_text="説明文", required=True)
    name = forms.CharField(label="名称")


def _field(form: forms.Form, name: str) -> str:
    return render_to_string("includes/field.html", {"field": form[name]})


def test_a_checkbox_sits_left_of_its_label_in_a_checkbox_row() -> None:
    html = _field(_Form(), "agree")
    row = re.search(r'<div class="checkbox">(.*?)</div>', html, re.S)
    assert row, html
    inner = row.group(1)
    assert inner.lstrip().startswith("<input")
    assert 'type="checkbox"' in inner
    assert '<label for="id_agree">同意する' in inner
    assert inner.index("<input") < inner.index("<label")
    assert 'class="field__label"' not in html  # not the stacked label above a text input
    assert '<p class="field__help" id="id_agree_helptext">説明文</p>' in html
    assert 'aria-describedby="id_agree_helptext"' in inner


def test_a_refused_checkbox_keeps_its_message_and_marks_the_field() -> None:
    form = _Form(data={"name": "x"})
    assert not form.is_valid()
    html = _field(form, "agree")
    assert 'class="field field--check field--invalid"' in html
    assert '<p class="field__error" id="id_agree_error">' in html
    assert "必須" in html


def test_other_fields_keep_the_stacked_label() -> None:
    html = _field(_Form(), "name")
    assert '<label class="field__label" for="id_name">名称' in html
    assert 'class="checkbox"' not in html


def test_the_reports_setup_page_uses_the_checkbox_row(tenant_a: Tenant) -> None:
    page = tenant_a.client("admin").get(tenant_a.url("staff/reports/setup/")).content.decode()
    assert re.search(
        r'<div class="checkbox"><input type="checkbox" name="category-active"[^>]*>'
        r'<label for="id_category-active">住民が選べる</label></div>',
        page,
    ), page
