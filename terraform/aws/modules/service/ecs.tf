locals {
  container_name = "app"

  xray_container = {
    name      = "xray-daemon"
    image     = var.xray_image
    essential = false
    cpu       = 32
    memory    = 256
    portMappings = [{
      containerPort = 2000
      protocol      = "udp"
    }]
    readonlyRootFilesystem = true
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "xray"
      }
    }
  }

  app_container = {
    name      = local.container_name
    image     = var.image
    essential = true
    portMappings = [{
      containerPort = var.container_port
      protocol      = "tcp"
    }]
    # The root file system is read-only; the app writes temporary files to /tmp only.
    readonlyRootFilesystem = true
    mountPoints = [{
      sourceVolume  = "tmp"
      containerPath = "/tmp"
      readOnly      = false
    }]
    environment = [for k in sort(keys(var.environment_variables)) : {
      name  = k
      value = var.environment_variables[k]
    }]
    # Every secret arrives as an environment variable of the same name, resolved by ECS at task start.
    secrets = [for k in sort(keys(var.secret_arns)) : {
      name      = k
      valueFrom = var.secret_arns[k]
    }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app.name
        awslogs-region        = var.region
        awslogs-stream-prefix = local.container_name
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/ecs/${var.name_prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = var.tags
}

resource "aws_ecs_cluster" "this" {
  name = var.name_prefix

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name_prefix
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode(concat(
    [local.app_container],
    var.enable_tracing ? [local.xray_container] : [],
  ))

  tags = var.tags
}

resource "aws_security_group" "app" {
  name        = "${var.name_prefix}-app-sg"
  description = "Application tasks of ${var.name_prefix}: traffic from the load balancer only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name_prefix}-app-sg" })
}

resource "aws_vpc_security_group_ingress_rule" "app_from_alb" {
  security_group_id            = aws_security_group.app.id
  description                  = "From the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

# HTTPS out through NAT (ECR, Secrets Manager, CloudWatch, the payment provider).
resource "aws_vpc_security_group_egress_rule" "app_https" {
  security_group_id = aws_security_group.app.id
  description       = "HTTPS to AWS APIs and payment providers"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

# Data stores inside the VPC (PostgreSQL, Redis).
resource "aws_vpc_security_group_egress_rule" "app_data" {
  for_each = toset([for p in var.data_store_ports : tostring(p)])

  security_group_id = aws_security_group.app.id
  description       = "Data store port ${each.key} inside the VPC"
  cidr_ipv4         = var.vpc_cidr_block
  ip_protocol       = "tcp"
  from_port         = tonumber(each.key)
  to_port           = tonumber(each.key)
}

resource "aws_ecs_service" "this" {
  name            = var.name_prefix
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = var.min_capacity
  launch_type     = "FARGATE"

  health_check_grace_period_seconds  = 60
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true

  dynamic "deployment_circuit_breaker" {
    for_each = var.enable_deployment_circuit_breaker ? [1] : []
    content {
      enable   = true
      rollback = true
    }
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.app.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = local.container_name
    container_port   = var.container_port
  }

  tags = var.tags

  lifecycle {
    # Application Auto Scaling owns the running count between min_capacity and max_capacity.
    # `billingops rollout` owns which task definition revision serves: it must register a copy of terraform's
    # latest revision (root output task_definition_arn) with only the image changed, behind a health gate and
    # with rollback, so that terraform's changes (environment, secrets, CPU/memory, sidecars) reach the service.
    # Without ignore_changes, every apply would switch the service back to terraform's revision (an un-gated
    # rollout of an old image).
    ignore_changes = [desired_count, task_definition]
  }

  depends_on = [aws_lb_listener.https]
}
