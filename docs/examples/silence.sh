curl -s -X POST -H content-type:application/json -d @silence.json http://127.0.0.1:33333/api/v1/silences
