docker run -d --name mailer -p 127.0.0.1:33333:33333 -e MAILER_TOKEN=change-me-0123456789 ch2/mailer:latest --public-status
docker run -d --name agent --link web:insideweb --link mailer:insidemailer -e MAILER_TOKEN=change-me-0123456789 ch2/agent:latest --report-every 2s
curl -s http://127.0.0.1:33333/api/v1/status
curl -s -o status.svg http://127.0.0.1:33333/badge/http%3A%2F%2Finsideweb%3A80%2F/status.svg
