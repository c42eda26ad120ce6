docker run -d --name web nginx:latest
docker run -d --name mailer ch2/mailer:latest
docker run -it --name agent --link web:insideweb --link mailer:insidemailer ch2/agent:latest
# System up.
# System up.
docker stop web
docker logs mailer
# CH2 Example Mailer has started.
# Sending email: To: admin@work Message: The service is down!
