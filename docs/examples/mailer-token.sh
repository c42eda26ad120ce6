docker run -d --name mailer -e MAILER_TOKEN=change-me-0123456789 ch2/mailer:latest --no-raw --to admin@work,oncall@work
docker run -d --name agent --link web:insideweb --link mailer:insidemailer -e MAILER_TOKEN=change-me-0123456789 ch2/agent:latest --to oncall@work
