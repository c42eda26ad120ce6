# Stand-in for postgres:15, built by scripts/images.sh when the image cannot be pulled:
# Debian's postgresql-15 on the debian:bookworm-slim (stand-in) base, set up like the
# official image: POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), POSTGRES_USER (postgres),
# POSTGRES_DB (the user's name), POSTGRES_HOST_AUTH_METHOD and /docker-entrypoint-initdb.d
# on first start; data in /var/lib/postgresql/data (PGDATA); listening on 5432 on every
# address; pg_isready and psql on the PATH; `docker run postgres:15 -c fsync=off` passes
# settings to the server; stops cleanly (fast shutdown) on SIGINT.
FROM debian:bookworm-slim
LABEL org.ch2.standin="postgres:15"
# policy-rc.d keeps the package scripts from starting a cluster inside the build container;
# create_main_cluster = false: the entrypoint makes the one cluster, in PGDATA, at first start.
RUN set -eux; \
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; \
    mkdir -p /etc/postgresql-common/createcluster.d; \
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/ch2.conf; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 gosu; \
    rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d; \
    mkdir -p /var/run/postgresql /var/lib/postgresql/data /docker-entrypoint-initdb.d; \
    chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql; \
    chmod 3777 /var/run/postgresql; chmod 700 /var/lib/postgresql/data; \
    /usr/lib/postgresql/15/bin/postgres --version
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
