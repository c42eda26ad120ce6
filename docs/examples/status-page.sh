docker run -d --name mailer -p 127.0.0.1:33333:33333 ch2/mailer:latest
docker run -d --name agent --link web:insideweb --link mailer:insidemailer ch2/agent:latest --report-every 2s
curl -s http://127.0.0.1:33333/api/v1/status
curl -s -o status.svg http://127.0.0.1:33333/badge/http%3A%2F%2Finsideweb%3A80%2F/status.svg
