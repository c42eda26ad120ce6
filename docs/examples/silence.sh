curl -s -u :change-me-0123456789 -H content-type:application/json -d @silence.json http://127.0.0.1:33333/api/v1/silences
