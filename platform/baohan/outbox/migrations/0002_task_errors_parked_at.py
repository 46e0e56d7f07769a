from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outbox', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxmessage',
            name='task_errors',
            field=models.PositiveIntegerField(default=0, verbose_name='任务自身出错次数'),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='parked_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='搁置时间'),
        ),
    ]
