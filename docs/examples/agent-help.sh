docker run --rm ch2/agent --help
docker run --rm ch2/agent --version
docker run --rm ch2/mailer --help
