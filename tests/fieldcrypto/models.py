from django.db import models

from madoguchi.core.fields import (
    BlindIndexField,
    EncryptedDateField,
    EncryptedJSONField,
    EncryptedTextField,
)


class Person(models.Model):
    name = models.CharField(max_length=50)
    mynumber = EncryptedTextField(null=True, blank=True)
    mynumber_index = BlindIndexField(
        source="mynumber", normalizer="madoguchi.core.japanese.normalize_digits"
    )
    birth_date = EncryptedDateField(null=True, blank=True)
    health = EncryptedJSONField(null=True, blank=True)
    note = EncryptedTextField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
