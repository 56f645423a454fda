from django.apps import AppConfig


class SurveillanceConfig(AppConfig):
    name = "madoguchi.surveillance"
    label = "surveillance"
    verbose_name = "感染症の患者登録"
