"""The yardstick for bench/pages.py: the smallest Flask app, served by the same gunicorn settings as the real one."""

from flask import Flask

app = Flask(__name__)

PAGE = "<!doctype html><html lang=\"nb\"><head><title>Minimal</title></head><body><p>Hei!</p></body></html>"


@app.route("/")
def index():
    return PAGE
