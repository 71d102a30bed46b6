"""The decisions (vedtak) on applications: allocation of the round's budget, proposals, approval by a second pair of
eyes, release case by case, the letters (made by the Celery worker), appeals (klager), and the kommune's decision
pages. Reviewing (grants.review) sits on top of this package; the application and its round below it."""
