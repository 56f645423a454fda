from django.contrib.auth.hashers import Argon2PasswordHasher


class ReducedCostArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with tiny costs, for the test suite only (MADOGUCHI_ENV=test)."""

    time_cost = 1
    memory_cost = 1024
    parallelism = 1
