data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Execution role: used by ECS itself to pull the image, write logs and resolve the secrets at task start.
resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-ecs-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${var.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    sid       = "ReadAppSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(var.secret_arns)
  }

  # Only through Secrets Manager: the key also encrypts the database and cache, which this role never reads.
  statement {
    sid       = "DecryptAppSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.secrets_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "read-app-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

# Task role: what the application code may call: trace upload and IAM authentication to Redis; everything else
# it reaches over the network.
resource "aws_iam_role" "task" {
  name               = "${var.name_prefix}-ecs-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "task_tracing" {
  statement {
    sid = "WriteTraces"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
      "xray:GetSamplingStatisticSummaries",
    ]
    resources = ["*"] # X-Ray has no resource-level permissions for these actions
  }
}

resource "aws_iam_role_policy" "task_tracing" {
  count = var.enable_tracing ? 1 : 0

  name   = "write-traces"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_tracing.json
}

data "aws_iam_policy_document" "task_redis" {
  count = length(var.elasticache_connect_arns) > 0 ? 1 : 0

  statement {
    sid       = "RedisIamAuth"
    actions   = ["elasticache:Connect"]
    resources = var.elasticache_connect_arns
  }
}

resource "aws_iam_role_policy" "task_redis" {
  count = length(var.elasticache_connect_arns) > 0 ? 1 : 0

  name   = "connect-redis"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_redis[0].json
}
