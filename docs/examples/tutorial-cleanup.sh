docker stop agent mailer
docker rm -v web mailer agent
